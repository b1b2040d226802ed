@echo off
rem Set-up for main.bat: one Octopus Server and one listening Tentacle on
rem loopback, installed where the real products install, each running as a
rem Windows service (the Service Control Manager's). The ports come from
rem the environment (COMMS_PORT, TENTACLE_PORT).
setlocal
set SERVER=C:\Program Files\Octopus Deploy\Octopus\Octopus.Server.exe
set TENTACLE=C:\Program Files\OctopusDeploy\Tentacle\Tentacle.exe
"%SERVER%" create-instance --instance OctopusServer
if errorlevel 1 exit /b 1
"%SERVER%" configure --instance OctopusServer --commsListenPort %COMMS_PORT% --commsListenAddress 127.0.0.1
if errorlevel 1 exit /b 1
"%SERVER%" show-thumbprint --instance OctopusServer --export-file="%TEMP%\old.txt"
if errorlevel 1 exit /b 1
set /p OLD=<"%TEMP%\old.txt"
"%TENTACLE%" create-instance --instance Tentacle
if errorlevel 1 exit /b 1
"%TENTACLE%" new-certificate --instance Tentacle --if-blank
if errorlevel 1 exit /b 1
"%TENTACLE%" configure --instance Tentacle --port %TENTACLE_PORT% --listenIpAddress 127.0.0.1 --trust="%OLD%"
if errorlevel 1 exit /b 1
"%TENTACLE%" show-thumbprint --instance Tentacle --export-file="%TEMP%\tentacle.txt"
if errorlevel 1 exit /b 1
set /p TENTACLE_TP=<"%TEMP%\tentacle.txt"
"%SERVER%" add-target --name Tentacle --address https://127.0.0.1:%TENTACLE_PORT% --thumbprint %TENTACLE_TP%
if errorlevel 1 exit /b 1
"%TENTACLE%" service --instance Tentacle --install --start
if errorlevel 1 exit /b 1
"%SERVER%" service --instance OctopusServer --install --start
if errorlevel 1 exit /b 1
"%SERVER%" health-check --instance OctopusServer
if errorlevel 1 exit /b 1
